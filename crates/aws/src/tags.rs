//! A change of one resource's tags, as every adapter's tagging call takes it.

use std::collections::BTreeMap;
use std::future::Future;

use crate::error::AwsError;

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

impl TagUpdate {
    /// Carries out the update with a service's two tagging calls, each only when it has something
    /// to do: `add` sets the keys to add or correct, then `remove` drops the keys no longer wanted.
    /// Every adapter's `retag` is this with its own service's calls.
    pub(crate) async fn apply<Add, Remove>(
        &self,
        add: impl FnOnce(BTreeMap<String, String>) -> Add,
        remove: impl FnOnce(Vec<String>) -> Remove,
    ) -> Result<(), AwsError>
    where
        Add: Future<Output = Result<(), AwsError>>,
        Remove: Future<Output = Result<(), AwsError>>,
    {
        if !self.add.is_empty() {
            add(self.add.clone()).await?;
        }
        if !self.remove.is_empty() {
            remove(self.remove.clone()).await?;
        }
        Ok(())
    }
}
