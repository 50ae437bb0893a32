module github.com/bridgedpos/bridged

go 1.26.8
