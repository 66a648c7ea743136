package attnc.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Damaged .npy files, at random: a tensor or one clean IOException (a class of its own: jqwik properties get no @TempDir). */
class NpyFuzzTest {
    /** Any truncation or byte flip of a valid file reads as a tensor or fails with one IOException, never another exception. */
    @Property(tries = 300)
    void damagedFilesFailCleanly(@ForAll @IntRange(min = 0, max = 200) int cut, @ForAll @IntRange(min = 0, max = 199) int flip,
                                 @ForAll byte value) throws IOException {
        byte[] good = NpyTest.npy("<i4", "3, 4", new byte[48]);
        byte[] damaged = Arrays.copyOf(good, Math.min(cut, good.length));
        if (flip < damaged.length) damaged[flip] = value;
        // jqwik properties get no @TempDir.
        Path file = Files.createTempFile("damaged", ".npy");
        try {
            Files.write(file, damaged);
            Tensor t = Npy.read(file);
            // A flip and a cut can leave another valid file (shape (3, 1) over 12 bytes of data): any tensor whose data the file holds exactly.
            assertEquals(Arrays.stream(t.shape()).asLongStream().reduce(1, (x, y) -> x * y), t.size());
            assertTrue((long) t.size() * t.dtype().bytes() <= damaged.length, t.size() + " elements of " + t.dtype() + " from " + damaged.length + " bytes");
        } catch (IOException expected) {
            assertTrue(expected.getMessage().startsWith(file.toString() + ": "), expected.getMessage());
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
