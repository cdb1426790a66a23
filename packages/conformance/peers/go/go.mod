module txlane.dev/peers/go

go 1.22
