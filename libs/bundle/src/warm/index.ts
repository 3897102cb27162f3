// What a command loads to start an OpenPGP thread before anything else: the pool only (no openpgp, no zip, no registry
// client), apart from @airlock/bundle so that the thread loads openpgp while the command loads its libraries.
export { warmPgpThread } from '../pgp-pool';
