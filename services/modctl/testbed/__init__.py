"""A bed of real processes (Kafka, Redis, the services) to stream comments through and count
what became of them: used by the fault tests and by `modctl soak`."""
