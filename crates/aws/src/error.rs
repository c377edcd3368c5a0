//! The one place AWS errors are classified. Callers match on [`ErrorClass`], never on error codes.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What an AWS error means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// The resource does not exist (observe treats it as absent).
    NotFound,
    /// Rate limited: back off with jitter and try again.
    Throttled,
    /// A transient fault (5xx, timeout, connection): back off and try again.
    Retryable,
    /// The credentials may not do this: report, do not retry in a hot loop.
    AccessDenied,
    /// AWS refused the input: report as a spec or operator problem, do not retry.
    Invalid,
    /// The resource exists in a state that forbids the call (already exists, in use, not empty,
    /// concurrent change): re-observe before acting again.
    Conflict,
    /// The write would pass one of AWS's size or count quotas: refused by us before it was sent
    /// ([`crate::quotas`]), or by AWS. Not retried: only a smaller document or a raised quota helps.
    QuotaExceeded,
    /// Anything else.
    Other,
}

impl ErrorClass {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Throttled | ErrorClass::Retryable)
    }
}

/// A failed AWS call: which call, what class, and AWS's own code and message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{service}:{operation} failed: {} ({class:?}): {message}", .code.as_deref().unwrap_or("no error code"))]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    pub class: ErrorClass,
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    /// Classifies an SDK error from `service:operation`.
    pub fn from_sdk<E>(service: &'static str, operation: &'static str, error: SdkError<E, Response>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = error.raw_response().map(|r| r.status().as_u16());
        let described = || aws_smithy_types::error::display::DisplayErrorContext(&error).to_string();
        let (class, code, message) = match &error {
            SdkError::ServiceError(service_error) => {
                let code = service_error.err().code().map(str::to_owned);
                let message = service_error
                    .err()
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| service_error.err().to_string());
                (classify(code.as_deref(), status), code, message)
            }
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => (ErrorClass::Retryable, None, described()),
            SdkError::ResponseError(_) => (
                status.map_or(ErrorClass::Retryable, |s| classify(None, Some(s))),
                None,
                described(),
            ),
            _ => (ErrorClass::Invalid, None, described()),
        };
        Self {
            service,
            operation,
            class,
            code,
            message,
        }
    }
}

impl crate::quotas::QuotaExceeded {
    /// The write `service:operation` that was not sent because it would pass the quota.
    pub fn refused(&self, service: &'static str, operation: &'static str) -> AwsError {
        AwsError {
            service,
            operation,
            class: ErrorClass::QuotaExceeded,
            code: Some("QuotaExceeded".to_owned()),
            message: self.to_string(),
        }
    }
}

/// Classifies by AWS error code first (codes are precise; several services answer throttling with
/// 400), then by HTTP status.
/// A read whose "not found" answer means "absent" or "not configured".
pub fn optional<T>(result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.class == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl AwsError {
    /// A create refused because the resource exists: made since we looked, most often by our own
    /// earlier attempt whose answer was lost.
    pub fn already_exists(&self) -> bool {
        const ALREADY_EXISTS: &[&str] = &[
            "BucketAlreadyOwnedByYou",
            "EntityAlreadyExists",
            "DBClusterAlreadyExistsFault",
            "DBClusterAlreadyExists",
            "DBInstanceAlreadyExistsFault",
            "DBInstanceAlreadyExists",
            "RepositoryAlreadyExistsException",
            "DBSubnetGroupAlreadyExists",
            "DBSubnetGroupAlreadyExistsFault",
            "InvalidGroup.Duplicate",
            "InvalidSubnet.Conflict",
            "RouteAlreadyExists",
            "NamespaceAlreadyExists",
            // moto's answer to a CreatePrivateDnsNamespace repeated after its answer was lost.
            "ConflictingDomainExists",
            "ServiceAlreadyExists",
            // CreateAlias repeated after its answer was lost.
            "AlreadyExistsException",
        ];
        self.code.as_deref().is_some_and(|code| ALREADY_EXISTS.contains(&code))
    }

    /// A request we could not even build (a value the SDK refuses before sending).
    pub fn request(service: &'static str, operation: &'static str, error: impl std::fmt::Display) -> Self {
        Self {
            service,
            operation,
            class: ErrorClass::Invalid,
            code: None,
            message: format!("could not build the request: {error}"),
        }
    }
}

pub fn classify(code: Option<&str>, status: Option<u16>) -> ErrorClass {
    if let Some(class) = code.and_then(classify_code) {
        return class;
    }
    match status {
        Some(404) => ErrorClass::NotFound,
        Some(429) => ErrorClass::Throttled,
        Some(403) => ErrorClass::AccessDenied,
        Some(409) => ErrorClass::Conflict,
        Some(400) => ErrorClass::Invalid,
        Some(s) if s >= 500 => ErrorClass::Retryable,
        _ => ErrorClass::Other,
    }
}

fn classify_code(code: &str) -> Option<ErrorClass> {
    const NOT_FOUND: &[&str] = &[
        "NotFound",
        "NoSuchBucket",
        "NoSuchKey",
        "NoSuchBucketPolicy",
        "NoSuchLifecycleConfiguration",
        "NoSuchPublicAccessBlockConfiguration",
        "NoSuchTagSet",
        "NoSuchTagSetError",
        "OwnershipControlsNotFoundError",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchEntity",
        "DBClusterNotFoundFault",
        "DBInstanceNotFoundFault",
        "ClusterNotFoundException",
        "ServiceNotFoundException",
        "InvalidSubnetID.NotFound",
        "InvalidGroup.NotFound",
        "RepositoryNotFoundException",
        "RepositoryPolicyNotFoundException",
        "NotFoundException",
        "ResourceNotFoundException",
        "NatGatewayNotFound",
        "DBSubnetGroupNotFoundFault",
        "LoadBalancerNotFound",
        "TargetGroupNotFound",
        "ListenerNotFound",
        "RuleNotFound",
        // Cloud Map.
        "NamespaceNotFound",
        "ServiceNotFound",
        // Detaching a gateway that is not attached: it is already where we want it.
        "Gateway.NotAttached",
    ];
    const THROTTLED: &[&str] = &[
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "PriorRequestNotComplete",
        "ProvisionedThroughputExceededException",
    ];
    const ACCESS_DENIED: &[&str] = &[
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "AccountProblem",
    ];
    const INVALID: &[&str] = &[
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "InvalidParameterException",
        "InvalidParameter",
        "InvalidInput",
        "InvalidRequest",
        "InvalidArgument",
        "InvalidBucketName",
        "MalformedPolicyDocument",
        "MalformedPolicy",
        "MalformedXML",
        "ValidationError",
        "ValidationException",
        "ClientException",
        "KMSInvalidStateException",
        "InvalidArnException",
        "MalformedPolicyDocumentException",
        "InvalidConfigurationRequest",
        "CertificateNotFound",
        "InvalidTarget",
        "UnsupportedProtocol",
    ];
    const CONFLICT: &[&str] = &[
        "BucketAlreadyExists",
        "BucketAlreadyOwnedByYou",
        "BucketNotEmpty",
        "OperationAborted",
        "EntityAlreadyExists",
        "DeleteConflict",
        "ConcurrentModification",
        "ConcurrentModificationException",
        // RDS answers with the fault's name or without its suffix, depending on the endpoint.
        "DBClusterAlreadyExistsFault",
        "DBClusterAlreadyExists",
        "DBInstanceAlreadyExistsFault",
        "DBInstanceAlreadyExists",
        "InvalidDBClusterStateFault",
        "InvalidDBInstanceStateFault",
        "RepositoryAlreadyExistsException",
        "ResourceInUseException",
        "ClusterContainsServicesException",
        "ClusterContainsTasksException",
        "ServiceNotActiveException",
        "UpdateInProgressException",
        "ConflictException",
        "RepositoryNotEmptyException",
        "DisabledException",
        "DBSubnetGroupAlreadyExists",
        "DBSubnetGroupAlreadyExistsFault",
        "InvalidDBSubnetGroupStateFault",
        "InvalidGroup.Duplicate",
        "InvalidSubnet.Conflict",
        "InvalidPermission.Duplicate",
        "RouteAlreadyExists",
        "Resource.AlreadyAssociated",
        "DependencyViolation",
        "InvalidVpcEndpoint.NotAvailable",
        "DuplicateLoadBalancerName",
        "DuplicateTargetGroupName",
        "DuplicateListener",
        "PriorityInUse",
        "ResourceInUse",
        // Cloud Map: a namespace or service of that name (or another namespace's zone in the VPC).
        "NamespaceAlreadyExists",
        "ServiceAlreadyExists",
        "ConflictingDomainExists",
    ];
    // AWS's own refusals of a write past a size or count quota (IAM's "Maximum policy size of 10240
    // bytes exceeded", ECR, ECS, ELB and EC2's per-resource limits). RequestLimitExceeded is EC2's
    // throttling, above.
    const QUOTA_EXCEEDED: &[&str] = &[
        "LimitExceeded",
        "LimitExceededException",
        "RulesPerSecurityGroupLimitExceeded",
        "TooManyRules",
        "TooManyTargetGroups",
        "TooManyTags",
        "TooManyTagsException",
        "PolicySizeExceeded",
    ];
    const RETRYABLE: &[&str] = &[
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServerException",
    ];
    [
        (NOT_FOUND, ErrorClass::NotFound),
        (THROTTLED, ErrorClass::Throttled),
        (ACCESS_DENIED, ErrorClass::AccessDenied),
        (INVALID, ErrorClass::Invalid),
        (CONFLICT, ErrorClass::Conflict),
        (RETRYABLE, ErrorClass::Retryable),
        (QUOTA_EXCEEDED, ErrorClass::QuotaExceeded),
    ]
    .into_iter()
    .find_map(|(codes, class)| codes.contains(&code).then_some(class))
    // EC2 names a missing resource `Invalid<Kind>ID.NotFound` (and `InvalidRoute.NotFound`, ...).
    .or_else(|| code.ends_with(".NotFound").then_some(ErrorClass::NotFound))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_win_over_status() {
        assert_eq!(classify(Some("Throttling"), Some(400)), ErrorClass::Throttled);
        assert_eq!(classify(Some("NoSuchBucketPolicy"), Some(404)), ErrorClass::NotFound);
        assert_eq!(classify(Some("BucketAlreadyExists"), Some(409)), ErrorClass::Conflict);
        // An instance or cluster that exists already is a conflict, not invalid input (both spellings).
        for code in [
            "DBInstanceAlreadyExists",
            "DBInstanceAlreadyExistsFault",
            "DBClusterAlreadyExists",
        ] {
            assert_eq!(classify(Some(code), Some(400)), ErrorClass::Conflict, "{code}");
        }
        assert_eq!(
            classify(Some("DBClusterNotFoundFault"), Some(404)),
            ErrorClass::NotFound
        );
        assert_eq!(classify(Some("InvalidVpcID.NotFound"), Some(400)), ErrorClass::NotFound);
        assert_eq!(
            classify(Some("InvalidGroup.Duplicate"), Some(400)),
            ErrorClass::Conflict
        );
        assert_eq!(classify(Some("DependencyViolation"), Some(400)), ErrorClass::Conflict);
        assert_eq!(classify(Some("AccessDenied"), Some(403)), ErrorClass::AccessDenied);
        assert_eq!(
            classify(Some("MalformedPolicyDocument"), Some(400)),
            ErrorClass::Invalid
        );
        // IAM's refusal of a role's 10,241st policy character, and EC2's throttling, which shares
        // the words.
        assert_eq!(classify(Some("LimitExceeded"), Some(409)), ErrorClass::QuotaExceeded);
        assert_eq!(classify(Some("TooManyRules"), Some(400)), ErrorClass::QuotaExceeded);
        assert_eq!(classify(Some("RequestLimitExceeded"), Some(503)), ErrorClass::Throttled);
    }

    #[test]
    fn status_decides_when_the_code_is_unknown_or_missing() {
        assert_eq!(classify(None, Some(404)), ErrorClass::NotFound);
        assert_eq!(classify(Some("SomethingNew"), Some(503)), ErrorClass::Retryable);
        assert_eq!(classify(None, Some(429)), ErrorClass::Throttled);
        assert_eq!(classify(None, Some(403)), ErrorClass::AccessDenied);
        assert_eq!(classify(None, Some(418)), ErrorClass::Other);
        assert_eq!(classify(None, None), ErrorClass::Other);
    }

    #[test]
    fn only_throttling_and_transient_faults_retry() {
        let retryable: Vec<_> = [
            ErrorClass::NotFound,
            ErrorClass::Throttled,
            ErrorClass::Retryable,
            ErrorClass::AccessDenied,
            ErrorClass::Invalid,
            ErrorClass::Conflict,
            ErrorClass::QuotaExceeded,
            ErrorClass::Other,
        ]
        .into_iter()
        .filter(|c| c.is_retryable())
        .collect();
        assert_eq!(retryable, [ErrorClass::Throttled, ErrorClass::Retryable]);
    }
}
