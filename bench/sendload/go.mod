module gochat/bench/sendload

go 1.23
