//! A change of one resource's tags, as every adapter's tagging call takes it.

use std::collections::BTreeMap;

/// Keys to add or correct, and keys to remove (the managed keys that left `spec.tags`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagUpdate {
    pub add: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

impl TagUpdate {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}
