//! End-to-end tests across the flowtrace crates. The library part is empty on purpose: the
//! traced programs live in `src/bin/` and the tests that run them as real processes in `tests/`.
