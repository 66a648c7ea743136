package attnc.jvm.kernel;

/**
 * The entry points of a generated decode class (a copy of {@link DecodeTemplate} with the
 * pattern's hooks); {@link DecodeDriver} schedules the calls.
 */
public interface DecodeKernel {
    /** Keys per tile. */
    int tileKv();

    /** How scores become weights; decides how partial rows merge. */
    Normalisation normalisation();

    /**
     * Starts the rows of sequence {@code seq}'s group of KV head {@code kvHead} in the scratch
     * and accumulates keys [kvFrom, kvTo) into their running max, sum and unnormalised output.
     */
    void accumulate(DecodeLaunch launch, DecodeLaunch.Sequence seq, DecodeScratch scratch, int kvHead, int kvFrom, int kvTo);

    /** Normalises the scratch's rows of the group, adds the sink, applies the output transform, writes output and LSE. */
    void finish(DecodeLaunch launch, DecodeLaunch.Sequence seq, DecodeScratch scratch, int kvHead);
}
