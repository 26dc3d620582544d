// The EN 16931 code lists the API checks values against (CEF lists as the validators' 2026 rule sets use them).

/** BT-34/BT-49 scheme: the CEF Electronic Address Scheme list (BR-CL-25). */
export const easCodes = new Set(
  (
    "EM 0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0147 0151 0154 0158 0170 0177 0183 0184 0188 0190 " +
    "0191 0192 0193 0194 0195 0196 0198 0199 0200 0201 0202 0203 0204 0205 0208 0209 0210 0211 0212 0213 0215 0216 " +
    "0217 0218 0221 0225 0230 0235 0240 0244 9901 9910 9913 9914 9915 9918 9919 9920 9922 9923 9924 9925 9926 9927 " +
    "9928 9929 9930 9931 9932 9933 9934 9935 9936 9937 9938 9939 9940 9941 9942 9943 9944 9945 9946 9947 9948 9949 " +
    "9950 9951 9952 9953 9957 9959 AN AQ AS AU"
  ).split(" "),
);

const letters = (from: string, to: string) =>
  Array.from({ length: to.charCodeAt(0) - from.charCodeAt(0) + 1 }, (_, i) => String.fromCharCode(from.charCodeAt(0) + i));

/** BT-121: the CEF VATEX list (BR-CL-22). */
export const vatexCodes = new Set([
  "VATEX-EU-79-C",
  "VATEX-EU-132",
  ...letters("A", "Q").map((l) => `VATEX-EU-132-1${l}`),
  "VATEX-EU-143",
  ...letters("A", "L").map((l) => `VATEX-EU-143-1${l}`),
  "VATEX-EU-148",
  ...letters("A", "I").map((l) => `VATEX-EU-148-${l}`),
  "VATEX-EU-151",
  ...["1A", "1AA", "1B", "1C", "1D", "1E"].map((l) => `VATEX-EU-151-${l}`),
  "VATEX-EU-309",
  ...["AE", "D", "F", "G", "I", "IC", "O", "J"].map((l) => `VATEX-EU-${l}`),
  "VATEX-FR-FRANCHISE",
  "VATEX-FR-CNWVAT",
]);

/** BT-81: UNTDID 4461 payment means as EN 16931 lists them (BR-CL-16): 1 to 70, 74 to 78, 91 to 97, ZZZ. */
export const paymentMeansPattern = /^(?:[1-9]|[1-6]\d|70|7[4-8]|9[1-7]|ZZZ)$/;

/** BT-81 codes that pay by credit transfer, which need the account to pay to (BR-61): 30 and 58. */
export const creditTransferCodes = new Set(["30", "58"]);

/** BT-130: the shape of a UN/ECE Recommendation 20 or 21 code (2 or 3 upper-case letters or digits; the list itself is not checked). */
export const unitCodePattern = /^[A-Z0-9]{2,3}$/;
