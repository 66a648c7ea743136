package attnc.jvm.emit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.jvm.kernel.Lanes;
import org.junit.jupiter.api.Test;

class CpuCacheTest {
    @Test
    void sysfsSizesAreRead() {
        assertEquals(1L << 20, CpuCache.parseSize("1024K"));
        assertEquals(2L << 20, CpuCache.parseSize("2M"));
        assertEquals(4096, CpuCache.parseSize("4096"));
        assertEquals(1L << 20, CpuCache.parseSize("lots"), "unreadable: the 1 MiB fallback");
        assertTrue(CpuCache.l2Bytes() > 0);
    }

    @Test
    void tilesShrinkWithTheCache() {
        assertEquals(new Tiling(8 * Lanes.L, 128), Tiling.forCache(1L << 20));
        assertEquals(new Tiling(8 * Lanes.L, 128), Tiling.forCache(2L << 20));
        assertEquals(new Tiling(4 * Lanes.L, 64), Tiling.forCache(256L << 10));
    }
}
