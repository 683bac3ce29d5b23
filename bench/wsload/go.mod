module gochat/bench/wsload

go 1.23
