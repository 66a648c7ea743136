package attnc.jvm.kernel;

/**
 * Says, for a block of queries × keys, whether the mask hides every element, shows every
 * element, or cannot tell. Must be sound: never EMPTY where an element is visible, never FULL
 * where one is hidden. Kernels evaluate the mask per element only where it says UNKNOWN.
 */
public interface TileClassifier {
    int EMPTY = 0, FULL = 1, UNKNOWN = 2;

    /** Classifies queries [q0, q1] × keys [kv0, kv1] (inclusive, absolute positions) of head (b, h). */
    int classify(int b, int h, int q0, int q1, int kv0, int kv1);

    TileClassifier ALWAYS_FULL = (b, h, q0, q1, kv0, kv1) -> FULL;
}
