//! Black-box tests of the running app over HTTP live in `api/`. The lib is
//! [`harness`]: the fault-injection toolkit those tests and the fault soak
//! use to stop, pause, rewind and cut the stores under the app.

pub mod harness;
