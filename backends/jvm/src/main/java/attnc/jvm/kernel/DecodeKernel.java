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
     * Starts the rows of sequence {@code seq}'s groups of KV heads [kvHead, kvHead + heads) in the
     * scratch (head kvHead + s in slot s) and accumulates keys [kvFrom, kvTo) into their running
     * max, sum and unnormalised output. Every key tile is read for all of them before the next:
     * where a cache keeps a key's heads side by side, the item reads its pages front to back.
     */
    void accumulate(DecodeLaunch launch, DecodeLaunch.Sequence seq, DecodeScratch scratch, int kvHead, int heads, int kvFrom, int kvTo);

    /**
     * Normalises the rows of KV head {@code kvHead}'s group in scratch slot {@code slot}, adds the
     * sink, applies the output transform, writes output and LSE.
     */
    void finish(DecodeLaunch launch, DecodeLaunch.Sequence seq, DecodeScratch scratch, int kvHead, int slot);
}
