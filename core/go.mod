module github.com/wagate/wagate/core

go 1.25.0
