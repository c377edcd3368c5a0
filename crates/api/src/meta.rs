//! Well-known keys: annotations users set, the finalizer we hold, and the tag that marks AWS
//! resources as ours.

/// `"true"`: make no AWS call for this object; Synced reports `Paused`.
pub const PAUSED_ANNOTATION: &str = "dataplatform.io/paused";
/// `"true"`: adopt (tag) resources that exist under our deterministic names without our owner tag.
pub const ADOPT_ANNOTATION: &str = "dataplatform.io/adopt";
/// How often the controller re-reads AWS for this object when nothing changes, e.g. `"10m"`
/// (s, m or h); the `run --resync-interval` flag sets the default.
pub const RESYNC_INTERVAL_ANNOTATION: &str = "dataplatform.io/resync-interval";
/// Held on both kinds until cleanup in AWS has finished.
pub const CLEANUP_FINALIZER: &str = "dataplatform.io/cleanup";
/// Tag key on every AWS resource the operator creates; the value is [`owner_tag_value`].
pub const OWNER_TAG: &str = "dataplatform.io/owner";

/// Tag key beside the owner tag: the `spec.tags` keys the operator put on the resource, sorted and
/// joined by spaces (see [`managed_tags_value`]). A key that leaves `spec.tags` is removed from the
/// resource only when this record lists it, so tags someone else set are never touched.
pub const MANAGED_TAGS_TAG: &str = "dataplatform.io/managed-tags";
/// The longest value AWS takes for a tag: the record of managed keys must fit in it.
pub const TAG_VALUE_LIMIT: usize = 256;

/// The managed-tags record for these `spec.tags` keys, or [`NO_MANAGED_TAGS`] when there are none:
/// a record that says "none" still lets a later pass remove keys added before it.
pub fn managed_tags_value<'a>(keys: impl IntoIterator<Item = &'a String>) -> String {
    let mut keys: Vec<&str> = keys.into_iter().map(String::as_str).collect();
    keys.sort_unstable();
    match keys.is_empty() {
        true => NO_MANAGED_TAGS.to_owned(),
        false => keys.join(" "),
    }
}

/// The record of no keys. Not empty: moto reads an empty S3 tag value back as "None", and a value
/// is clearer to a person reading the tags.
pub const NO_MANAGED_TAGS: &str = "-";

/// The keys a managed-tags record lists.
pub fn managed_tag_keys(record: &str) -> impl Iterator<Item = &str> {
    record
        .split(' ')
        .filter(|key| !key.is_empty() && *key != NO_MANAGED_TAGS)
}

/// The owner tag's value: `<namespace>/<name>` of the object that manages the resource.
pub fn owner_tag_value(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Whether an annotation is set to the literal `"true"` (any other value, or none, is false).
pub fn annotation_is_true(annotations: Option<&std::collections::BTreeMap<String, String>>, key: &str) -> bool {
    annotations.and_then(|a| a.get(key)).is_some_and(|v| v == "true")
}
