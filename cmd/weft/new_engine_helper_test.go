package main

import "github.com/weftflow/weft/internal/enginetest"

// newEngine is engine.New for tests, whose options are all valid.
var newEngine = enginetest.New
