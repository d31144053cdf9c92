//! The one integration-test binary. Each module tests one feature through the `nodectl` binary, as a
//! user runs it, over data-driven cases in `tests/cases/<feature>/`, each checked by one `check`
//! function against an expected-output file (`UPDATE_EXPECT=1` rewrites them).

mod bad_input;
mod cli;
mod docs;
mod emulator;
mod expect;
mod export;
mod faults;
mod fuzz;
mod genesys;
mod import;
mod jsonpath;
mod plan;
mod run;
mod scenarios;
mod sdk;
mod secrets;
mod serve;
mod test;
mod tidy;
mod untrusted;
mod upstream;
mod validate;
mod vtl;
mod vtl_oracle;
