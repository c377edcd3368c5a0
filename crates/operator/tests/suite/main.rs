//! The operator's integration tests in one test binary (each binary links kube and the whole AWS
//! SDK; one binary instead of six saves disk and links). nextest runs each test in its own process.

#![recursion_limit = "256"]

mod rendered;
mod support;

mod binary;
mod cli_against_moto;
mod controller;
mod controller_watches;
mod crds;
mod deploy;
mod docs;
mod faults;
mod golden;
mod helm;
mod iam_policy;
mod sign_in;
