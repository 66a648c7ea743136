package attnc.ir;

import java.util.Arrays;
import java.util.Optional;

/** Storage types of input tensors; each loads as one of the scalar {@link Type}s. */
public enum DType {
    FLOAT32("float32", Type.FLOAT, 4),
    BFLOAT16("bfloat16", Type.FLOAT, 2),
    FLOAT16("float16", Type.FLOAT, 2),
    INT32("int32", Type.INT, 4),
    BOOL("bool", Type.BOOL, 1);

    private final String spelling;
    private final Type loadsAs;
    private final int bytes;

    DType(String spelling, Type loadsAs, int bytes) {
        this.spelling = spelling;
        this.loadsAs = loadsAs;
        this.bytes = bytes;
    }

    public String spelling() { return spelling; }
    public Type loadsAs() { return loadsAs; }
    public int bytes() { return bytes; }

    public static Optional<DType> ofSpelling(String text) {
        return Arrays.stream(values()).filter(d -> d.spelling.equals(text)).findFirst();
    }

    @Override public String toString() { return spelling; }
}
