module github.com/wagate/wagate/functions

go 1.25.0
