//! Every integration test of the workspace's engine and AWS side, in one test binary: each binary
//! links the whole AWS SDK, so one instead of eleven saves about a gigabyte of disk and ten links
//! per build. nextest still runs each test in its own process, with its own moto.

mod aws_calls_and_errors;
mod engine_certificate;
mod engine_compute;
mod engine_create;
mod engine_dagster;
mod engine_deletion;
mod engine_discovery;
mod engine_dns;
mod engine_drift;
mod engine_grants;
mod engine_identity;
mod engine_load_balancer;
mod engine_network;
mod engine_ownership;
mod engine_registry;
mod engine_resume;
mod engine_runtime;
mod engine_sign_in;
mod engine_storage_keys;
mod engine_tags;
mod engine_user_pool;
mod harness;
mod layout;
mod quotas;
