module github.com/seed41aebe0c/lbkit

go 1.26.8

require (
	github.com/go-kit/kit v0.13.0
	github.com/go-kit/log v0.2.1
)

require github.com/go-logfmt/logfmt v0.5.1 // indirect
