// Torch's default random generator is process-wide: tests that seed it (initialisation, dropout,
// PGD starts) would see each other's draws if they ran in parallel. On 2 cores little is lost.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
