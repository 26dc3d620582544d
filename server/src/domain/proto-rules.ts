// The structural rules the proto declares with buf.validate (lengths, ranges, counts, required
// fields): enforced here by @bufbuild/protovalidate, as an SDK user's client can enforce them too,
// and read by the domain's own checks, so each bound is written once, in the proto.
import { getOption, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator } from "@bufbuild/protovalidate";
import { field as fieldRules } from "@invoicer/sdk/buf/validate/validate_pb";
import type { FieldViolation } from "../shared/violations.ts";

const validator = createValidator();

/**
 * Every violation of the proto's rules, by its field path, its description naming the rule id. A list
 * past its `max_items` is named once and only its first `max_items` elements are checked: 100,000
 * bad lines must not cost 100,000 checks and an answer of 200,000 violations.
 */
export function protoViolations<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): FieldViolation[] {
  const overLong: FieldViolation[] = [];
  const bounded: Record<string, unknown> = { ...message };
  for (const field of schema.fields) {
    const max = field.fieldKind === "list" ? declaredMaxItems(field) : undefined;
    const list = bounded[field.localName] as unknown[];
    if (max === undefined || list.length <= max) continue;
    bounded[field.localName] = list.slice(0, max);
    overLong.push({ field: field.name, description: `must contain no more than ${max} item(s) (repeated.max_items)` });
  }
  const result = validator.validate(schema, bounded as MessageShape<Desc>);
  if (result.kind === "error") throw result.error;
  const found = result.kind === "valid" ? [] : result.violations;
  return [...overLong, ...found.map((v) => ({ field: pathToString(v.field), description: `${v.message} (${v.ruleId})` }))];
}

/**
 * The domain's violations, then the proto's for fields the domain did not name: one message per field,
 * the domain's where both refuse it (it names the EN 16931 rule where there is one).
 */
export function withProtoViolations(proto: FieldViolation[], domain: FieldViolation[]): FieldViolation[] {
  const named = new Set(domain.map((v) => v.field));
  return [...domain, ...proto.filter((v) => !named.has(v.field))];
}

/** A string field's `max_len` as the proto declares it. */
export function maxLen(field: DescField): number {
  const rules = getOption(field, fieldRules).type;
  if (rules.case !== "string" || !rules.value.maxLen) throw new Error(`${field.toString()} declares no string.max_len`);
  return Number(rules.value.maxLen);
}

/** A repeated field's `max_items` as the proto declares it. */
export function maxItems(field: DescField): number {
  const max = declaredMaxItems(field);
  if (max === undefined) throw new Error(`${field.toString()} declares no repeated.max_items`);
  return max;
}

// Read from the descriptor's options once per field: protoViolations asks for every list field of every request.
const maxItemsByField = new WeakMap<DescField, number | undefined>();

function declaredMaxItems(field: DescField): number | undefined {
  if (maxItemsByField.has(field)) return maxItemsByField.get(field);
  const rules = getOption(field, fieldRules).type;
  const max = rules.case === "repeated" && rules.value.maxItems ? Number(rules.value.maxItems) : undefined;
  maxItemsByField.set(field, max);
  return max;
}

/** An integer field's `lte` as the proto declares it. */
export function upperBound(field: DescField): bigint {
  const rules = getOption(field, fieldRules).type;
  const lessThan = rules.case === "int64" || rules.case === "int32" ? rules.value.lessThan : undefined;
  if (lessThan?.case !== "lte") throw new Error(`${field.toString()} declares no lte`);
  return BigInt(lessThan.value);
}
