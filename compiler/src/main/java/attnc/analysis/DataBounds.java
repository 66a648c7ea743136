package attnc.analysis;

/**
 * What the analysis may know about input tensors: bounds on loaded values and on membership,
 * given bounds on the indices. {@link #NONE} knows nothing (every load is unknown);
 * {@link BlockMap} knows per-tile minima and maxima.
 */
interface DataBounds {

    /** Bounds of an int32 or bool element (bools as 0 and 1); indices as in the expression, unclamped. */
    IntBound intLoad(String input, IntBound[] indices);

    FloatBound floatLoad(String input, IntBound[] indices);

    /** The few distinct values of an int32 element over the index ranges, sorted; null if unknown or many. */
    int[] distinct(String input, IntBound[] indices);

    /** {@code value in input[leading...]}. */
    BoolBound member(String input, IntBound value, IntBound[] leading);

    DataBounds NONE = new DataBounds() {
        public IntBound intLoad(String input, IntBound[] indices) { return IntBound.TOP; }
        public FloatBound floatLoad(String input, IntBound[] indices) { return FloatBound.TOP; }
        public int[] distinct(String input, IntBound[] indices) { return null; }
        public BoolBound member(String input, IntBound value, IntBound[] leading) { return BoolBound.UNKNOWN; }
    };
}
