// Anchor for the test suite's shared precompiled header (see pensieve_test in
// PensieveTargets.cmake); it has no code of its own.
