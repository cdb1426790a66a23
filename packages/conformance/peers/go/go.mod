module github.com/txlane/txlane/packages/conformance/peers/go

go 1.22
