# The operator image: build in the Rust image, run on distroless (glibc, CA certificates, no shell,
# no package manager) as the distroless `nonroot` user. The binary links rustls with aws-lc-rs, so
# it needs no OpenSSL at run time.
#
#   docker build -t ghcr.io/dataplatform-io/dataplatform-operator:0.1.0 .
#
# Not built in CI (our machines cannot build images); reviewed line by line, see README.

# --- build -------------------------------------------------------------------------------------
FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
# aws-lc-sys builds C with cmake; cc and perl come with the image.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY crates crates
COPY tests tests
RUN cargo build --release --locked -p dataplatform-operator \
 && cp target/release/dataplatform-operator /dataplatform-operator

# --- run ---------------------------------------------------------------------------------------
# Debian 12 in both stages: the build stage's glibc (2.36) lets crates/operator/build.rs pack the
# binary's relocations, and the binary then needs a glibc of 2.36 or later to start.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /dataplatform-operator /dataplatform-operator
# 65532 is distroless's `nonroot`; numeric so `runAsNonRoot` can verify it.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/dataplatform-operator"]
CMD ["run"]
