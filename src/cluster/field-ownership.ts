/**
 * Who owns V-Kube's fields of an object it created rather than applied.
 *
 * Server-side apply removes a field only when the applier's own last apply set it. An
 * object made by a create (POST) has its fields owned by an `Update` entry of the same
 * manager, so a later apply that drops a container, a port or an environment variable
 * would leave it in place. Before the first apply of such an object, its `Update` entry
 * is turned into an `Apply` one (merged into the `Apply` entry if both exist), as
 * `kubectl apply --server-side` upgrades objects made by client-side apply: one JSON
 * patch of `metadata.managedFields`, guarded by tests so that it changes nothing if the
 * entries moved meanwhile (the caller reads the object again and retries).
 *
 * Pure: the requests are KubernetesGateway's.
 */

/** An entry of `metadata.managedFields`, as the API server returns it. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  apiVersion?: string;
  fieldsType?: string;
  fieldsV1?: FieldSet;
  time?: string;
}

/** A FieldsV1 set: nested keys (`f:spec`, `k:{…}`, `.`) whose leaves are empty objects. */
export interface FieldSet {
  [key: string]: FieldSet;
}

export type JsonPatchOp = { op: 'test' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

/** The entry a create by `manager` left: an Update of the object itself (a status write's entry names its subresource). */
function isCreateEntry(e: ManagedFieldsEntry, manager: string): boolean {
  return e.manager === manager && e.operation === 'Update' && !e.subresource;
}

/** Whether `manager` owns fields through an Update entry: its next apply must first take them over (`ownershipUpgradePatch`). */
export function ownsByUpdate(entries: readonly ManagedFieldsEntry[] | undefined, manager: string): boolean {
  return entries?.some((e) => isCreateEntry(e, manager)) ?? false;
}

/**
 * The JSON patch that hands the fields of `manager`'s Update entry to its Apply entry:
 * the Update entry becomes the Apply entry, or, when an Apply entry exists already, its
 * fields are added to that one and the Update entry is removed. Undefined when there is
 * nothing to hand over.
 */
export function ownershipUpgradePatch(entries: readonly ManagedFieldsEntry[] | undefined, manager: string): JsonPatchOp[] | undefined {
  const list = entries ?? [];
  const update = list.findIndex((e) => isCreateEntry(e, manager));
  if (update < 0) return undefined;
  const at = (i: number) => `/metadata/managedFields/${i}`;
  const guard = (i: number, operation: string): JsonPatchOp[] => [
    { op: 'test', path: `${at(i)}/manager`, value: manager },
    { op: 'test', path: `${at(i)}/operation`, value: operation },
  ];
  const applied = list.findIndex((e) => e.manager === manager && e.operation === 'Apply' && !e.subresource);
  if (applied < 0) return [...guard(update, 'Update'), { op: 'replace', path: `${at(update)}/operation`, value: 'Apply' }];
  const merged = unionOf(list[applied]!.fieldsV1 ?? {}, list[update]!.fieldsV1 ?? {});
  // The replace comes first: removing the Update entry moves the entries after it.
  return [
    ...guard(update, 'Update'),
    ...guard(applied, 'Apply'),
    { op: 'replace', path: `${at(applied)}/fieldsV1`, value: merged },
    { op: 'remove', path: at(update) },
  ];
}

/** Every field in `a` or `b`. */
export function unionOf(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { ...a };
  for (const [key, sub] of Object.entries(b)) out[key] = key in out ? unionOf(out[key]!, sub) : sub;
  return out;
}
