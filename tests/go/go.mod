module gomaptrace.test/targets

go 1.19
