// What any request check reports: the bad fields, each by its path in the request, and why.

export interface FieldViolation {
  field: string;
  description: string;
}

const controlChars = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const singleLineControlChars = /[\u0000-\u001f\u007f]/;
/** What XML 1.0 (and so a DOCX) cannot hold besides control characters: U+FFFE, U+FFFF and unpaired surrogates. */
const notText = /[\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Collects violations of one request, each naming the field by its path in the request. */
export class Violations {
  readonly list: FieldViolation[] = [];
  readonly #textRule: ((value: string) => string | undefined) | undefined;
  /** `textRule` is a further check of every text field's value: what is wrong with it, or undefined. */
  constructor(textRule?: (value: string) => string | undefined) {
    this.#textRule = textRule;
  }
  add(field: string, description: string) {
    this.list.push({ field, description });
  }
  /** Checks a text field: required or not, its length in characters, no control characters, then the text rule. */
  text(field: string, value: string, max: number, opts: { required?: boolean; multiline?: boolean } = {}) {
    if (value.trim() === "") {
      if (opts.required) this.add(field, "is required");
      return;
    }
    if ([...value].length > max) this.add(field, `must be at most ${max} characters`);
    else if ((opts.multiline ? controlChars : singleLineControlChars).test(value)) {
      this.add(field, "must not contain control characters");
    } else if (notText.test(value)) {
      this.add(field, "must not contain U+FFFE, U+FFFF or unpaired surrogates");
    } else {
      const problem = this.#textRule?.(value);
      if (problem !== undefined) this.add(field, problem);
    }
  }
}
