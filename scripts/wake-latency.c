// A reader blocked in recvmsg() on a TCP socket (loopback): the time from the
// skb's receive timestamp (SO_TIMESTAMPNS, taken as the packet enters the
// receive path) to recvmsg returning, i.e. softirq + TCP input + wake-up +
// scheduling + the copy. Also the time from the writer's send() to the stamp.
// The floor of the lan profile's wake-up latency (docs/real-kernel.md,
// "Network profiles"). Run: gcc -O2 -o /tmp/wake scripts/wake-latency.c
// -lpthread && chrt -f 10 /tmp/wake (SCHED_FIFO, as tcpsim real's workers).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#define N 3000
static int rfd, wfd; static volatile long long sent_ns; static long long lat[N], pre[N];
static long long rt(void){struct timespec t;clock_gettime(CLOCK_REALTIME,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
static void *reader(void *a){char b[16];char cb[256];
 for(int i=0;i<N;i++){struct iovec v={b,1};struct msghdr m={0};m.msg_iov=&v;m.msg_iovlen=1;m.msg_control=cb;m.msg_controllen=sizeof cb;
  if(recvmsg(rfd,&m,0)!=1)exit(1);long long t=rt();
  for(struct cmsghdr*c=CMSG_FIRSTHDR(&m);c;c=CMSG_NXTHDR(&m,c)) if(c->cmsg_level==SOL_SOCKET&&c->cmsg_type==SO_TIMESTAMPNS){struct timespec ts;memcpy(&ts,CMSG_DATA(c),sizeof ts);long long s=ts.tv_sec*1000000000LL+ts.tv_nsec;lat[i]=t-s;pre[i]=s-sent_ns;}}
 return 0;}
static int cmp(const void*a,const void*b){long long x=*(long long*)a,y=*(long long*)b;return x<y?-1:x>y;}
static void pr(const char*n,long long*x){qsort(x,N,sizeof x[0],cmp);printf("%s: n=%d p10 %.1f p50 %.1f p90 %.1f p99 %.1f us\n",n,N,x[N/10]/1e3,x[N/2]/1e3,x[N*9/10]/1e3,x[N*99/100]/1e3);}
int main(){
 int l=socket(AF_INET,SOCK_STREAM,0);struct sockaddr_in a={.sin_family=AF_INET,.sin_addr.s_addr=htonl(0x7f000001)};socklen_t al=sizeof a;
 bind(l,(void*)&a,sizeof a);listen(l,1);getsockname(l,(void*)&a,&al);int c=socket(AF_INET,SOCK_STREAM,0);int one=1;
 setsockopt(c,IPPROTO_TCP,TCP_NODELAY,&one,4);connect(c,(void*)&a,sizeof a);int s=accept(l,0,0);setsockopt(s,SOL_SOCKET,SO_TIMESTAMPNS,&one,4);rfd=s;wfd=c;
 pthread_t t;pthread_create(&t,0,reader,0);
 for(int i=0;i<N;i++){struct timespec sl={0,200000+(rand()%300000)};nanosleep(&sl,0);sent_ns=rt();if(write(wfd,"x",1)!=1)exit(1);}
 pthread_join(t,0);pr("skb stamp -> recvmsg returns",lat);pr("send() -> skb stamp",pre);return 0;}
