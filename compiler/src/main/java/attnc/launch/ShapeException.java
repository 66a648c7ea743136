package attnc.launch;

/** A launch was refused before running: a shape, dtype, param or input does not match the pattern. */
public final class ShapeException extends IllegalArgumentException {
    public ShapeException(String message) {
        super(message);
    }

    /** The refusal of a tensor in GPU memory by a backend that reads host memory. */
    public static ShapeException onDevice(String name, String backend) {
        return new ShapeException(name + ": the tensor lives in GPU memory; the " + backend + " backend reads host memory (float[], int[], MemorySegment)");
    }
}
