// Loaded into the sidecar with --import by a test: on SIGUSR2 it throws an uncaught
// exception (or, with QB_TEST_CRASH=rejection, leaves a promise rejection unhandled), as a
// bug in the sidecar would.
process.on('SIGUSR2', () => {
  if (process.env.QB_TEST_CRASH === 'rejection') void Promise.reject(new Error('test: an unhandled rejection'));
  else
    setImmediate(() => {
      throw new Error('test: an uncaught exception');
    });
});
