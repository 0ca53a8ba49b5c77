module github.com/seed41aebe0c/lbkit

go 1.26.8

require (
	github.com/go-kit/kit v0.13.0
	github.com/go-kit/log v0.2.1
	// v1.35.0 and later need a newer Go than 1.26.8 (GOTOOLCHAIN=local): pinned at the newest that builds
	github.com/hashicorp/consul/api v1.34.5
	// benchmarked against pooling in the same file
	github.com/jackc/puddle/v2 v2.2.3
	// the in-process DNS server of examples/demo -discovery dns
	github.com/miekg/dns v1.1.73
	// lbmetrics only: the core packages use go-kit's metrics interfaces
	github.com/prometheus/client_golang v1.25.0
	github.com/prometheus/client_model v0.6.3
	// the text parser lbmetrics' exposition test checks a scrape with
	github.com/prometheus/common v0.72.0
	// go-kit circuitbreaker in examples/kitservice
	github.com/sony/gobreaker v0.4.1
	go.etcd.io/etcd/api/v3 v3.7.3
	// same version as the embedded server in integration/go.mod
	go.etcd.io/etcd/client/v3 v3.7.3
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.61.0
	// go-kit v0.13.0 requires the 2021 google.golang.org/genproto, which
	// still holds googleapis/api and googleapis/rpc; current grpc and etcd
	// import those from the split modules google.golang.org/genproto/
	// googleapis/{api,rpc}. With both in a build, go mod tidy in a user's
	// module fails with "ambiguous import". Requiring a genproto from after
	// the split (which has neither package) makes MVS pick it for every user.
	// grpcpool/genproto_test.go imports one of its packages so that tidy
	// keeps this line; scripts/consumer-smoke.sh (make test) checks it.
	google.golang.org/genproto v0.0.0-20261026165753-2ffab32bce7e
	// the newest that resolves with Go 1.26.8
	google.golang.org/grpc v1.85.0
	// orca/orcagrpc reads gRPC's binary ORCA trailer with protowire (already built with grpc)
	google.golang.org/protobuf v1.36.12
)

require (
	go.opentelemetry.io/otel v1.47.0
	go.opentelemetry.io/otel/sdk v1.47.0
	go.opentelemetry.io/otel/trace v1.47.0
)

require (
	github.com/VividCortex/gohistogram v1.0.0 // indirect
	github.com/afex/hystrix-go v0.0.0-20180502004556-fa1af6a1f4f5 // indirect
	github.com/armon/go-metrics v0.4.1 // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/coreos/go-semver v0.3.1 // indirect
	github.com/coreos/go-systemd/v22 v22.7.0 // indirect
	github.com/fatih/color v1.19.0 // indirect
	github.com/go-logfmt/logfmt v0.5.1 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/go-viper/mapstructure/v2 v2.5.0 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.29.0 // indirect
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-hclog v1.6.3 // indirect
	github.com/hashicorp/go-immutable-radix v1.3.1 // indirect
	github.com/hashicorp/go-metrics v0.6.0 // indirect
	github.com/hashicorp/go-multierror v1.1.1 // indirect
	github.com/hashicorp/go-rootcerts v1.0.2 // indirect
	github.com/hashicorp/golang-lru v1.0.2 // indirect
	github.com/hashicorp/serf v0.10.4 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/mitchellh/go-homedir v1.1.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/smartystreets/goconvey v1.8.1 // indirect
	github.com/streadway/handy v0.0.0-20200128134331-0f66f006fb2e // indirect
	go.etcd.io/etcd/client/pkg/v3 v3.7.3 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.27.1 // indirect
	golang.org/x/exp v0.0.0-20260218203240-3dfff04db8fa // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261019180522-ce908d29299b // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261019180522-ce908d29299b // indirect
)
