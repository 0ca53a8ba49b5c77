package grpcpool_test

// This import keeps google.golang.org/genproto in lbkit's go.mod at a
// version after googleapis/api and googleapis/rpc moved into modules of
// their own (see the comment there). Without it go mod tidy drops the
// requirement, and a module that requires go-kit v0.13.0 (which pins the
// 2021 genproto) beside lbkit gets "ambiguous import" errors from go mod
// tidy. A test-only import: nothing of it is built into a program.
import _ "google.golang.org/genproto/protobuf/field_mask"
