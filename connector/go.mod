module github.com/wagate/wagate/connector

go 1.25.0
