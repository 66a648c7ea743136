package attnc.jvm.kernel;

/**
 * The entry points of a generated kernel class (a copy of {@link FlashTemplate} with the
 * pattern's hooks). The {@link Driver} schedules calls; the class does the arithmetic.
 */
public interface TileKernel {
    /** Queries per tile (a multiple of 4 vectors: the queries are the vector lanes). */
    int tileQ();

    /** Keys per tile (a multiple of 4). */
    int tileKv();

    /** How scores become weights; decides how a split-KV merge combines partial rows. */
    Normalisation normalisation();

    /**
     * Accumulates keys [kvFrom, kvTo) for the query tile starting at row {@code q0} of head
     * (b, h) into the scratch's running max, sum and unnormalised output.
     */
    void accumulate(Launch launch, Scratch scratch, int b, int h, int q0, int kvFrom, int kvTo);

    /** Normalises the scratch's rows, applies the output transform and writes output and LSE. */
    void finish(Launch launch, Scratch scratch, int b, int h, int q0);
}
