//! Observe, plan, act: for one account, the desired state from its spec, what AWS holds, the diff
//! between them as a plan of actions, the executor that carries it out, and the status it reports.
//! Knows nothing of kube-runtime: the controller and the CLI both drive it through [`Engine`].

pub mod compute;
pub mod deletion;
pub mod desired;
pub mod diff;
pub mod error;
pub mod execute;
pub mod grant;
pub mod observe;
pub mod plan;
pub mod policy;
pub mod reconcile;
pub mod registry;
pub mod status;

pub use desired::{DesiredAccount, ObjectId};
pub use error::ReconcileError;
pub use execute::ExecuteOptions;
pub use grant::{GrantAccounts, GrantObject, GrantPlan, Revoked};
pub use plan::{Action, ActionKind, FieldChange, Part, Plan};
pub use reconcile::{AccountObject, AccountPlan, Engine, Reconciled};
