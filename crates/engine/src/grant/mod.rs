//! SharedBucketGrant: one tenant lets another account use its `shared` bucket. Both halves are the
//! engine's: the grantor's bucket policy (and key), and, when the grantee is a managed Organisation
//! account, that account's task role. Revocation removes exactly what the grant owns.

pub mod desired;
pub mod diff;
mod object;
mod reconcile;
mod status;
pub mod writes;

pub use desired::DesiredGrant;
pub use diff::{GrantPlan, ObservedGrant};
pub use object::{GrantAccounts, GrantObject};
pub use reconcile::{GrantPlanned, Revoked};
