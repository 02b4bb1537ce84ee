module strata

go 1.22
