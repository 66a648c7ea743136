package attnc.cli;

/** A mistake in what the user asked for; {@link Main} prints its message, never its stack trace. */
final class UserError extends RuntimeException {
    UserError(String message) {
        super(message, null, false, false);
    }
}
