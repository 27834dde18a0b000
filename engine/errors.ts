/**
 * A mistake the user can fix (a missing stack file, a cluster that is gone, a wrong option),
 * as opposed to a bug in pluggable-mesh. The commands print its message alone, without a stack
 * trace; the message must already say what is wrong and what to do. Config content problems
 * are `ConfigError`s (components/resources), which the commands treat the same way.
 */
export class UserError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UserError";
    }
}
