module github.com/wagate/wagate/web

go 1.25.0
