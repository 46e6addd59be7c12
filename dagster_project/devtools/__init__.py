"""Developer tooling: throwaway local services for `make pg-up` and the test suite."""
