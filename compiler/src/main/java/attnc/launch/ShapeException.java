package attnc.launch;

/** A launch was refused before running: a shape, dtype, param or input does not match the pattern. */
public final class ShapeException extends IllegalArgumentException {
    public ShapeException(String message) {
        super(message);
    }
}
