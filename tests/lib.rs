//! Black-box tests of the running app over HTTP live in `api/`; this
//! package has no code of its own.
