"""Sign-in throttling: too many wrong passwords for one account, or from one address, and
sign-ins are refused (the right password too) until the window has passed."""

from services.common import redis_keys
from services.common.redis_client import RedisClient


class Throttled(Exception):
    """Answered with 429 and `Retry-After: seconds`."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class LoginThrottle:
    """Fixed windows in Redis, shared by every publisher process. Per account, so a password
    cannot be guessed from many addresses; per address, so many accounts cannot be tried
    from one."""

    def __init__(
        self, redis: RedisClient, *, per_account: int, per_address: int, window_seconds: int
    ) -> None:
        self._redis = redis
        self._limits = {"account": per_account, "address": per_address}
        self.window_seconds = window_seconds

    def _keys(self, username: str, address: str) -> dict[str, str]:
        return {
            "account": redis_keys.login_failures("account", username.lower()),
            "address": redis_keys.login_failures("address", address),
        }

    async def check(self, username: str, address: str) -> None:
        """Raise `Throttled` while either counter is at its limit."""
        keys = self._keys(username, address)
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys.values():
                pipe.get(key)
                pipe.pttl(key)
            replies = await pipe.execute()
        waits = []
        for i, kind in enumerate(keys):
            count, ttl_ms = replies[2 * i], replies[2 * i + 1]
            if count is not None and int(count) >= self._limits[kind]:
                waits.append(max(1, -(-int(ttl_ms) // 1000)) if ttl_ms > 0 else 1)
        if waits:
            raise Throttled(max(waits))

    async def failed(self, username: str, address: str) -> None:
        """Count a wrong password; the window starts at the first failure."""
        for key in self._keys(username, address).values():  # each counter in its own slot
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self.window_seconds, nx=True)
                await pipe.execute()

    async def succeeded(self, username: str) -> None:
        """A right password (while not throttled) clears the account's count."""
        await self._redis.delete(redis_keys.login_failures("account", username.lower()))
