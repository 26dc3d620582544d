/** The web app's language, named rather than left to the browser: its labels are English, so are its amounts. */
export const uiLanguage = "en-US";
