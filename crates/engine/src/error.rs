//! Why a reconcile did not finish, and the condition reason each case is reported with.

use dataplatform_api::InvalidSpec;
use dataplatform_api::conditions::Reason;
use dataplatform_aws::{AwsError, ErrorClass, IdentityError};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    #[error("invalid spec: {0}")]
    InvalidSpec(#[from] InvalidSpec),
    #[error("{0}")]
    AccountMismatch(IdentityError),
    #[error("resources under this object's names are not its own, nothing was changed: {}", .0.join("; "))]
    Conflict(Vec<String>),
    #[error("a write would pass an AWS quota, nothing was changed: {}", .0.join("; "))]
    QuotaExceeded(Vec<String>),
    #[error("{0}")]
    Aws(#[from] AwsError),
    /// Something this object needs (its account, the account's bucket key) is not there yet.
    #[error("{0}")]
    DependencyNotReady(String),
}

impl From<IdentityError> for ReconcileError {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::Call(aws) => ReconcileError::Aws(aws),
            mismatch @ IdentityError::AccountMismatch { .. } => ReconcileError::AccountMismatch(mismatch),
        }
    }
}

impl ReconcileError {
    pub fn reason(&self) -> Reason {
        match self {
            ReconcileError::InvalidSpec(_) => Reason::InvalidSpec,
            ReconcileError::AccountMismatch(_) => Reason::AccountMismatch,
            ReconcileError::Conflict(_) => Reason::Conflict,
            ReconcileError::QuotaExceeded(_) => Reason::QuotaExceeded,
            ReconcileError::DependencyNotReady(_) => Reason::DependencyNotReady,
            ReconcileError::Aws(aws) => match aws.class {
                ErrorClass::Throttled => Reason::Throttled,
                ErrorClass::AccessDenied => Reason::AccessDenied,
                ErrorClass::QuotaExceeded => Reason::QuotaExceeded,
                _ => Reason::ReconcileError,
            },
        }
    }

    /// Errors that a retry soon may clear (throttling, a 5xx, a resource busy elsewhere); the rest
    /// wait for a spec change or a long interval.
    pub fn is_transient(&self) -> bool {
        match self {
            ReconcileError::Aws(aws) => aws.class.is_retryable() || aws.class == ErrorClass::Conflict,
            // Looked at again soon; the controller also re-checks when the account changes.
            ReconcileError::DependencyNotReady(_) => true,
            _ => false,
        }
    }

    /// Errors that say the object (not AWS) is wrong: Ready turns False until it is fixed.
    pub fn blocks_readiness(&self) -> bool {
        if let ReconcileError::DependencyNotReady(_) = self {
            return true;
        }
        !self.is_transient()
            && !matches!(self, ReconcileError::Aws(aws) if aws.class == ErrorClass::Other || aws.class == ErrorClass::NotFound)
    }
}
